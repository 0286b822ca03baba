/// Sources and sinks of bytes, so the formats stream with constant memory and never see a file descriptor.

/// A readable byte object of a length fixed when it was opened; reads are positional (pread), so a
/// source can be read twice, as the two-pass encryption needs.
public protocol ByteSource: AnyObject {
    /// The length observed when the source was opened. A read that finds a different amount
    /// means the object changed underneath (a consumer reports `.sourceChanged`).
    var length: UInt64 { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns the number read, 0 at end of data.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ShadowError) -> Int
}

/// Something that takes bytes in order. Producers that throw part-way leave the sink's contents
/// undefined: the owner of the sink discards them (an atomic file writer never renames them into place).
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws(ShadowError)
}

extension ByteSource {
    /// Fills `buffer` completely unless the end of data comes first; returns the count read.
    public func readFully(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ShadowError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(at: offset + UInt64(done), into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n == 0 { break }
            done += n
        }
        return done
    }
}

/// An in-memory source.
public final class MemorySource: ByteSource {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var length: UInt64 { UInt64(bytes.count) }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ShadowError) -> Int {
        guard offset < UInt64(bytes.count) else { return 0 }
        let start = Int(offset)
        let n = min(buffer.count, bytes.count - start)
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n)
        }
        return n
    }
}

/// An in-memory sink.
public final class MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ chunk: UnsafeRawBufferPointer) throws(ShadowError) { bytes.append(contentsOf: chunk) }
}
