from generator.cli.cli import main

main(prog_name="modalgen")
