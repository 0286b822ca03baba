/// `Array.withUnsafeBytes` is `rethrows`, which erases a typed error to `any Error`. These keep it.
extension Array where Element == UInt8 {
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeBytes { b in Result { () throws(E) -> R in try body(b) } }
        return try result.get()
    }

    public mutating func withMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeMutableBytes { b in Result { () throws(E) -> R in try body(b) } }
        return try result.get()
    }
}
