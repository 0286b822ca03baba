/// A unified diff of two texts by lines (Myers' O(ND) algorithm), as `shadowsync diff` prints it.
public enum TextDiff {
    /// Unchanged lines shown around each change, as `diff -u` does.
    static let contextLines = 3
    /// Bytes inspected for a NUL: a file holding one in its first 8000 bytes is binary (as git decides).
    static let binaryProbeBytes = 8000

    public static func isBinary(_ bytes: [UInt8]) -> Bool { bytes.prefix(binaryProbeBytes).contains(0) }

    /// The unified diff of `old` into `new` with the given header names; empty when they are equal.
    public static func unified(_ old: [UInt8], _ new: [UInt8], oldName: String, newName: String) -> String {
        if old == new { return "" }
        if isBinary(old) || isBinary(new) { return "Binary files \(oldName) and \(newName) differ\n" }
        let a = lines(old), b = lines(new)
        let script = edits(a, b)
        var out = "--- \(oldName)\n+++ \(newName)\n"
        // Group edits into hunks: runs of changes no more than 2 * context equal lines apart.
        var i = 0
        while i < script.count {
            guard let firstChange = script[i...].firstIndex(where: { $0.kind != .same }) else { break }
            var last = firstChange
            var j = firstChange
            while j < script.count {
                if script[j].kind != .same { last = j; j += 1; continue }
                var k = j
                while k < script.count && script[k].kind == .same { k += 1 }
                if k < script.count && k - j <= 2 * contextLines { j = k } else { break }
            }
            let start = max(i, firstChange - contextLines), end = min(script.count, last + 1 + contextLines)
            let hunk = script[start..<end]
            let oldStart = hunk.first.map { $0.oldIndex } ?? 0, newStart = hunk.first.map { $0.newIndex } ?? 0
            let oldCount = hunk.filter { $0.kind != .insert }.count, newCount = hunk.filter { $0.kind != .delete }.count
            out += "@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@\n"
            for e in hunk {
                let line: Line
                switch e.kind {
                case .same: line = a[e.oldIndex]; out += " "
                case .delete: line = a[e.oldIndex]; out += "-"
                case .insert: line = b[e.newIndex]; out += "+"
                }
                out += String(decoding: line.text, as: UTF8.self) + "\n"
                if !line.endsWithNewline { out += "\\ No newline at end of file\n" }
            }
            i = end
        }
        return out
    }

    static func range(_ start: Int, _ count: Int) -> String {
        // diff -u numbers lines from 1; an empty range names the line before it.
        count == 1 ? "\(start + 1)" : "\(count == 0 ? start : start + 1),\(count)"
    }

    struct Line: Equatable {
        var text: ArraySlice<UInt8>
        var endsWithNewline: Bool
    }

    static func lines(_ bytes: [UInt8]) -> [Line] {
        var out: [Line] = []
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            out.append(Line(text: bytes[start..<i], endsWithNewline: true))
            start = i + 1
        }
        if start < bytes.count { out.append(Line(text: bytes[start...], endsWithNewline: false)) }
        return out
    }

    enum Kind { case same, delete, insert }
    struct Edit {
        var kind: Kind
        /// Position in the old text (for an insert: the old line it comes before).
        var oldIndex: Int
        /// Position in the new text (for a delete: the new line it comes before).
        var newIndex: Int
    }

    /// The shortest edit script from `a` to `b` (Myers 1986), in order.
    static func edits(_ a: [Line], _ b: [Line]) -> [Edit] {
        let n = a.count, m = b.count, max = n + m
        var v = [Int](repeating: 0, count: 2 * max + 2)
        var trace: [[Int]] = []
        search: for d in 0...max {
            trace.append(v)
            for k in stride(from: -d, through: d, by: 2) {
                var x = (k == -d || (k != d && v[k - 1 + max] < v[k + 1 + max])) ? v[k + 1 + max] : v[k - 1 + max] + 1
                var y = x - k
                while x < n && y < m && a[x] == b[y] { x += 1; y += 1 }
                v[k + max] = x
                if x >= n && y >= m { break search }
            }
        }
        // Walk back through the frontiers saved before each step d.
        var x = n, y = m
        var out: [Edit] = []
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let v = trace[d]
            let k = x - y
            let prevK = (k == -d || (k != d && v[k - 1 + max] < v[k + 1 + max])) ? k + 1 : k - 1
            let prevX = v[prevK + max], prevY = prevX - prevK
            while x > prevX && y > prevY { x -= 1; y -= 1; out.append(Edit(kind: .same, oldIndex: x, newIndex: y)) }
            if d > 0 {
                if x == prevX { out.append(Edit(kind: .insert, oldIndex: prevX, newIndex: prevY)) }
                else { out.append(Edit(kind: .delete, oldIndex: prevX, newIndex: prevY)) }
            }
            x = prevX
            y = prevY
        }
        return out.reversed()
    }
}
