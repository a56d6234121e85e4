import Testing
@testable import CairnCore
import CairnTestSupport

@Test func jsonValueRoundTrip() throws {
    let value = try JSONValue.parse(#"{"a":[1,2.5,"x",null,true]}"#)
    #expect(value.jsonText == #"{"a":[1,2.5,"x",null,true]}"#)
}
