import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin

/// The ABI this host implements, as compiled from cairn_plugin.h.
public enum HostABI {
    public static let major = UInt32(CAIRN_ABI_MAJOR)
    public static let minor = UInt32(CAIRN_ABI_MINOR)
    public static let entrySymbol = CAIRN_PLUGIN_ENTRY_SYMBOL
    public static let toolchainNone = CAIRN_TOOLCHAIN_NONE
    /// The stamp of the Swift toolchain that built this host; Swift plugins must carry the same.
    public static let swiftToolchain = String(cString: cairn_swift_toolchain())
}
