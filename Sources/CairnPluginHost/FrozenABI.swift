import CCairnPlugin

/// The sizes of ABI v1.0's structs, frozen. A later minor version appends fields, so the host's
/// own `sizeof` grows with it; "at least v1.0" must be measured to the end of v1.0's last field,
/// or the first v1.1 host would refuse every v1.0 plugin. Tested against a frozen copy of the
/// v1.0 header (Tests/Fixtures/abi/v1.0).
public enum FrozenABI {
    public static let plugin = sizeThrough(\cairn_plugin.storage)
    public static let componentAPI = sizeThrough(\cairn_component_api.restore)
    public static let storageAPI = sizeThrough(\cairn_storage_api.check_access)

    /// The size of `Struct` through the end of `field` (CAIRN_SIZE_THROUGH): a struct of
    /// `struct_size` bytes has the field when its size is at least this (CAIRN_HAS_FIELD).
    static func sizeThrough<Struct, Field>(_ field: KeyPath<Struct, Field>) -> Int {
        MemoryLayout<Struct>.offset(of: field)! + MemoryLayout<Field>.size
    }
}
