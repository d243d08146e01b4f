// A C target needs a source file; the header is all there is (see include/CLibFuzzer.h).
#include "CLibFuzzer.h"
