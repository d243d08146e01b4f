// libFuzzer's entry point for programs with their own main (compiler-rt's FuzzerInterface.h).
// Only `hanaro-fuzz` built with -sanitize=fuzzer calls it; nothing references it otherwise.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
