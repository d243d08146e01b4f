import ArgumentParser
import GRDB
@main struct Bench: ParsableCommand { func run() {} }
