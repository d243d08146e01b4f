import ArgumentParser
@main struct Hanaro: ParsableCommand { func run() {} }
