import CairnPluginSupport

/// A failed operation: the status for the host and a sentence for the operator (never a secret).
typealias RedisError = PluginError
