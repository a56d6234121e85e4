import CairnCore
/// The extended headers in front of one member (pax 'x', GNU 'L'), and the rules for pax global
/// headers ('g'), which make Cairn read every member as GNU tar reads it. Where the two would
/// disagree, the archive is refused rather than read one way: GNU tar keeps only the last of two
/// 'x' headers while a merge would keep both, and applies a global `path` or `size` to every
/// member that follows, so a verified name could be extracted elsewhere by `tar -x`.
struct MemberHeaders {
    /// Records a global header may carry: they say nothing about a member's name, type or data.
    /// Only `mtime` is honoured (GNU tar applies it too).
    static let harmlessGlobalKeys: Set<String> = ["comment", "mtime", "atime", "ctime"]

    private(set) var pax: [String: String] = [:]
    private(set) var longName: String?
    private var sawPax = false

    mutating func addPax(_ records: [String: String], offset: Int64) throws {
        guard !sawPax else {
            throw ArchiveError.corruptTar(offset: offset, "a second pax extended header for one member "
                + "(GNU tar keeps only the last one); Cairn archives never hold two")
        }
        sawPax = true
        pax = records
    }

    mutating func addLongName(_ name: String, offset: Int64) throws {
        guard longName == nil else {
            throw ArchiveError.corruptTar(offset: offset, "a second GNU long-name header for one member; Cairn archives never hold two")
        }
        longName = name
    }

    /// A global header's records, refused when one would change the members that follow.
    static func checkGlobal(_ records: [String: String], offset: Int64) throws {
        let meaningful = records.keys.filter { !harmlessGlobalKeys.contains($0) }.sorted()
        guard meaningful.isEmpty else {
            throw ArchiveError.corruptTar(offset: offset, "a pax global header sets \(meaningful.map { "'\($0)'" }.joined(separator: ", ")), "
                + "which GNU tar applies to every member that follows; Cairn archives never carry it "
                + "(a global header may only hold \(harmlessGlobalKeys.sorted().joined(separator: ", ")))")
        }
    }
}
