#if canImport(Glibc)
import Glibc
#endif

/// Hands memory the process has freed back to the operating system.
///
/// A full reconcile of a big gym builds its whole desired state and reads (hundreds of MiB at 100,000
/// members) to plan, then keeps only the plan for the hours it takes to carry out. glibc's allocator keeps
/// freed pages mapped for reuse, in every thread's arena, so without this the planning peak stayed the
/// process's resident size for the rest of its life. Called once per plan of the whole gym, where the cost
/// (a walk of the heap, milliseconds) is nothing beside the planning.
enum FreedMemory {
    private typealias MallocTrim = @convention(c) (Int) -> Int32

    /// glibc's `malloc_trim`, looked up at run time: Swift's Glibc module does not export `<malloc.h>`, and
    /// a C library without it (musl) simply keeps its pages.
    private static let mallocTrim: MallocTrim? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: MallocTrim.self)
        #else
        return nil
        #endif
    }()

    static func returnToSystem() {
        _ = mallocTrim?(0)
    }
}
