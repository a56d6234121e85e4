import CairnCore
import CairnArchive
import CairnInterfaces
import CCurl

/// Process-wide setup that must happen once, before any thread starts and any plugin loads.
public enum HostRuntime {
    /// libcurl's global init is not thread-safe, and plugins must never call it themselves
    /// (cairn_plugin.h): the host does it once at startup for every HTTP user in the process.
    public static func initialize() {
        _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }
}
