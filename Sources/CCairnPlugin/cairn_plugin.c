/* The ABI lives in include/cairn_plugin.h; SwiftPM needs one source file per C target. */
