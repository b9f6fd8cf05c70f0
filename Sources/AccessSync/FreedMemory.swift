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
    static func returnToSystem() {
        #if canImport(Glibc)
        _ = malloc_trim(0)
        #endif
    }
}
