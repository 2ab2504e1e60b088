import Glibc

// SwiftPM gives this executable its own `main`, so libFuzzer's is not linked in: run its driver
// (`LLVMFuzzerRunDriver`, part of libFuzzer's public interface) with our arguments and target.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

var argc = CommandLine.argc
var argv = Optional(CommandLine.unsafeArgv)
exit(runFuzzerDriver(&argc, &argv, { data, size in fuzzOneInput(data, size) }))
