#if canImport(Glibc)
@preconcurrency public import Glibc
#endif
public import ShadowCore

extension WorkTreeStat {
    /// The fields of `st` that show a file is still the one its writer wrote.
    public init(_ st: Glibc.stat) {
        self.init(size: UInt64(st.st_size),
                  mtimeSeconds: Int64(st.st_mtim.tv_sec), mtimeNanoseconds: Int64(st.st_mtim.tv_nsec),
                  ctimeSeconds: Int64(st.st_ctim.tv_sec), ctimeNanoseconds: Int64(st.st_ctim.tv_nsec),
                  device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }
}
