import Foundation
import Testing

/// The sizes the issue names: 10k files and a 200 MB file, two agents, compared byte for byte.
@Suite(.serialized) struct ScaleTests {
    @Test func tenThousandFilesAndA200MBFile() throws {
        let s = try Scratch("scale")
        let a = s.agent("a"), b = s.agent("b")
        for i in 0..<10_000 { try a.write("d\(i % 100)/f\(i).txt", String(repeating: "line \(i)\n", count: 1 + i % 20)) }
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        #expect(b.snapshot() == a.snapshot())
        #expect(b.snapshot().count == 10_100)

        // 200 MB of incompressible bytes (a counter run through a mixing function).
        let big = a.folder + "/big.bin"
        _ = FileManager.default.createFile(atPath: big, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: big))
        var x: UInt64 = 0x9E3779B97F4A7C15
        for _ in 0..<200 {
            var chunk = [UInt64](repeating: 0, count: 131_072)
            for i in chunk.indices { x ^= x << 13; x ^= x >> 7; x ^= x << 17; chunk[i] = x }
            handle.write(chunk.withUnsafeBytes { Data($0) })
        }
        try handle.close()
        try a.write("d0/f0.txt", "edited with the big file\n")
        try a.sync()
        try b.sync()
        #expect(b.snapshot() == a.snapshot())
        #expect(b.snapshot()["big.bin"]?.hasPrefix("file:209715200 bytes") == true)
        #expect(b.read("d0/f0.txt") == "edited with the big file\n")
    }
}
