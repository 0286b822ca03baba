import Glibc
import ShadowUI

// The web UI behind `shadowsync ui`: a program of its own, so the command-line tool does not link SwiftNIO.
exit(await UIServer.main(arguments: Array(CommandLine.arguments.dropFirst())))
