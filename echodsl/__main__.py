from echodsl.cli import main

main(prog_name="echodsl")
