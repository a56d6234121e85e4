import CairnCore
/// POSIX.1-2001 extended header records: `"<len> <key>=<value>\n"`, where `len` counts the
/// whole record including its own digits.
enum PaxRecords {
    static func encode(_ records: [(key: String, value: String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (key, value) in records {
            let body = key.utf8.count + value.utf8.count + 3  // ' ', '=', '\n'
            // The length includes its own digits; adding them can carry into one more digit.
            var length = body + String(body).count
            while length != body + String(length).count { length = body + String(length).count }
            out += Array("\(length) \(key)=\(value)\n".utf8)
        }
        return out
    }

    /// Parses records; returns a description of the first malformed record on failure.
    static func parse(_ data: [UInt8]) -> Result<[String: String], ParseFailure> {
        var records: [String: String] = [:]
        var position = 0
        while position < data.count {
            // GNU and others may pad the data with NULs.
            if data[position] == 0 { break }
            var length = 0
            var cursor = position
            while cursor < data.count, data[cursor] >= 0x30, data[cursor] <= 0x39, length < 1 << 30 {
                length = length * 10 + Int(data[cursor] - 0x30); cursor += 1
            }
            guard cursor < data.count, data[cursor] == 0x20, length > cursor - position + 1,
                  position + length <= data.count, data[position + length - 1] == 0x0a else {
                return .failure(ParseFailure(offset: position))
            }
            let record = data[(cursor + 1)..<(position + length - 1)]
            guard let equals = record.firstIndex(of: 0x3d) else { return .failure(ParseFailure(offset: position)) }
            let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
            let value = String(decoding: record[(equals + 1)...], as: UTF8.self)
            records[key] = value
            position += length
        }
        return .success(records)
    }

    struct ParseFailure: Error { var offset: Int }
}
