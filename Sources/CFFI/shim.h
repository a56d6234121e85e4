#include <ffi.h>

/* libffi's built-in type descriptors are mutable C globals, which Swift 6 will not reference from
 * concurrent code, and a Swift pointer to a global must not escape the call that made it. These
 * return the descriptors' real, process-lifetime addresses instead. */
static inline ffi_type *cairn_ffi_type_void(void) { return &ffi_type_void; }
static inline ffi_type *cairn_ffi_type_pointer(void) { return &ffi_type_pointer; }
static inline ffi_type *cairn_ffi_type_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *cairn_ffi_type_uint32(void) { return &ffi_type_uint32; }
static inline ffi_type *cairn_ffi_type_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *cairn_ffi_type_uint64(void) { return &ffi_type_uint64; }
static inline ffi_type *cairn_ffi_type_double(void) { return &ffi_type_double; }
