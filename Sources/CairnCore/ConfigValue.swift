/// A value from the config file or an override, with where it came from.
public struct ConfigValue: Sendable {
    public var value: JSONValue
    public var origin: ValueOrigin
    public init(_ value: JSONValue, _ origin: ValueOrigin) { self.value = value; self.origin = origin }
}
