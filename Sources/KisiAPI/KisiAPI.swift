// KisiAPI: a typed client for Kisi's REST API (api.kisi.io).
//
// - KisiClient.swift: the public, hand-written client (curated-client style).
// - KisiModels.swift: public domain types; KisiError.swift: errors; KisiPagination.swift: paging.
// - KisiMiddleware.swift: auth headers, pacing (KisiRateLimiter.swift), retries, metrics, logging.
// - KisiMapping.swift: generated types <-> domain types.
// - Generated/: swift-openapi-generator output (internal), from kisi-openapi.filtered.yaml, which
//   scripts/kisi-openapi/filter.py derives from Kisi's own OpenAPI document. Regenerate with
//   scripts/kisi-openapi/generate.sh; never edit by hand.
