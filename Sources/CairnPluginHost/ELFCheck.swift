import CairnCore
import CairnArchive
import CairnInterfaces
import Foundation

/// Looks at a library's ELF header before dlopen, so that "not a plugin" gets a clear message
/// instead of the dynamic linker's "invalid ELF header".
enum ELFCheck {
    static func problem(with url: URL) -> String? {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            return FileManager.default.fileExists(atPath: url.path)
                ? "library \(url.path) is not readable"
                : "library \(url.path) does not exist (build it, or fix \"library\" in plugin.json)"
        }
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 20)) ?? Data())
        guard header.count >= 20, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else {
            return "library \(url.path) is not an ELF shared library (it starts with \(hexPrefix(header)))"
        }
        // e_ident[EI_CLASS]: 2 = 64-bit; e_type (offset 16, little endian): 3 = ET_DYN.
        if header[4] != (MemoryLayout<Int>.size == 8 ? 2 : 1) {
            return "library \(url.path) is a \(header[4] == 1 ? 32 : 64)-bit ELF file; the host is \(MemoryLayout<Int>.size * 8)-bit"
        }
        if header[16] != 3 || header[17] != 0 {
            return "library \(url.path) is an ELF file but not a shared library (e_type \(header[16])); build it as a .so (-shared -fPIC or .library(type: .dynamic))"
        }
        return nil
    }

    private static func hexPrefix(_ bytes: [UInt8]) -> String {
        bytes.isEmpty ? "nothing: the file is empty" : bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
    }
}
