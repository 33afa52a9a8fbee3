from ciclo.cli import main

main()
