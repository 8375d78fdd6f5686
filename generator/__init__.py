"""modalgen: serving specs in, deployable Modal apps out."""
