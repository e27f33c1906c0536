from echodsl.cli import main

main()
