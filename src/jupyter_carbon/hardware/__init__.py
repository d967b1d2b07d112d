"""What the machine is (CPU model, sockets, TDP), for the modelled sensors. Imports nothing heavy."""
