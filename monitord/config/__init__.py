"""Configuration: TOML parsed once into frozen, validated objects."""
