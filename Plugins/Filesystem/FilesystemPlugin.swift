import CCairnPlugin
public let stampProbe: String = String(cString: cairn_swift_toolchain())
