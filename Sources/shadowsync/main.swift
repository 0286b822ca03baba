import ShadowCLI

ShadowsyncCLI.main()
