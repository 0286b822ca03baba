import Testing
import ShadowCore

@Suite struct FileTimeTests {
    @Test func nanosecondCountsSplitTowardThePast() {
        #expect(FileTime(totalNanoseconds: 1_500_000_000_123) == FileTime(seconds: 1_500, nanoseconds: 123))
        #expect(FileTime(totalNanoseconds: -1) == FileTime(seconds: -1, nanoseconds: 999_999_999))
        #expect(FileTime(totalNanoseconds: -1_000_000_000) == FileTime(seconds: -1, nanoseconds: 0))
        #expect(FileTime(totalNanoseconds: Int64.min).totalNanoseconds == Int64.min)
        #expect(FileTime(totalNanoseconds: Int64.max).totalNanoseconds == Int64.max)
    }

    @Test func datesBeyondAnInt64OfNanosecondsHaveNoCount() {
        #expect(FileTime(seconds: 10_413_792_000, nanoseconds: 0).totalNanoseconds == nil)  // 2300
        #expect(FileTime(seconds: Int64.min, nanoseconds: 0).totalNanoseconds == nil)
        #expect(FileTime(seconds: 9_223_372_036, nanoseconds: 854_775_807).totalNanoseconds == Int64.max)
        #expect(FileTime(seconds: 9_223_372_036, nanoseconds: 854_775_808).totalNanoseconds == nil)
    }

    @Test func orderAndText() {
        let times = [FileTime(seconds: 1, nanoseconds: 0), FileTime(seconds: -1, nanoseconds: 999_999_999), FileTime(seconds: 0, nanoseconds: 5), .epoch]
        #expect(times.sorted() == [FileTime(seconds: -1, nanoseconds: 999_999_999), .epoch, FileTime(seconds: 0, nanoseconds: 5), FileTime(seconds: 1, nanoseconds: 0)])
        #expect(FileTime(seconds: 1_767_225_600, nanoseconds: 123).description == "1767225600.000000123")
    }
}
