import ArgumentParser
import ShadowAgent
import ShadowCore

struct UICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui", abstract: "A local web page for every folder on this machine: state, conflicts, history, ignore rules.",
        discussion: "Prints an address with a secret token; open it in a browser on this machine. Listens on loopback only. Runs the shadowsync-ui program installed beside shadowsync.")

    @Option(name: .long, help: ArgumentHelp("Loopback address and port to listen on (port 0: any free port).", valueName: "HOST:PORT"))
    var listen = "127.0.0.1:0"
    @Flag(name: .long, help: "Open the page in the default browser (xdg-open).") var open = false

    func run() throws {
        try reporting { () throws(ShadowError) in
            throw execSibling("shadowsync-ui", arguments: ["--listen", listen] + (open ? ["--open"] : []))
        }
    }
}
