#!/usr/bin/env bash
# Regenerates the Kisi API client code in Sources/KisiAPI/Generated.
#
# The generated Swift files are COMMITTED: CI and developers build KisiAPI without building
# swift-openapi-generator (and its OpenAPIKit/Yams dependencies) or running the build plugin.
# Run this script only when Kisi's document (Vendor/kisi/kisi-openapi.yml), filter.py or
# openapi-generator-config.yaml change, then commit the filtered YAML and the Generated/ folder.
#
# Steps:
#   1. filter.py: Kisi's 227-operation document -> Sources/KisiAPI/kisi-openapi.filtered.yaml
#      (the operations we use, with the documented patches; see README.md in this folder).
#   2. swift-openapi-generator 1.14.3 (built once in a scratch package at /tmp/openapi-gen, outside
#      the repository, with its own build folder) -> Sources/KisiAPI/Generated/*.swift
#
# Usage: scripts/kisi-openapi/generate.sh [path/to/kisi-openapi.yml]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRIPT_DIR="$REPO_ROOT/scripts/kisi-openapi"
INPUT="${1:-$REPO_ROOT/Vendor/kisi/kisi-openapi.yml}"
FILTERED="$REPO_ROOT/Sources/KisiAPI/kisi-openapi.filtered.yaml"
OUTPUT_DIR="$REPO_ROOT/Sources/KisiAPI/Generated"
GEN_PKG="${OPENAPI_GEN_PACKAGE:-/tmp/openapi-gen}"

python3 "$SCRIPT_DIR/filter.py" "$INPUT" "$FILTERED"

mkdir -p "$GEN_PKG"
if [ ! -f "$GEN_PKG/Package.swift" ]; then
    cat > "$GEN_PKG/Package.swift" <<'SWIFT'
// swift-tools-version:5.9
// Scratch package used only to build the swift-openapi-generator CLI (scripts/kisi-openapi/generate.sh).
import PackageDescription

let package = Package(
    name: "openapi-gen",
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
    ]
)
SWIFT
fi

# The generator writes a fixed set of files (Types*.swift, Client.swift); remove old ones first so
# a file the generator no longer emits does not linger.
mkdir -p "$OUTPUT_DIR"
rm -f "$OUTPUT_DIR"/*.swift

swift run --package-path "$GEN_PKG" swift-openapi-generator generate \
    --config "$SCRIPT_DIR/openapi-generator-config.yaml" \
    --output-directory "$OUTPUT_DIR" \
    "$FILTERED"

echo "generate.sh: regenerated $(ls "$OUTPUT_DIR" | wc -l) files in $OUTPUT_DIR"
