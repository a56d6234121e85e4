#include "cairn_plugin.h"
