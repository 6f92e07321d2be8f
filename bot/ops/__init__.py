"""Operations shared by the CLI, the tools and the admin commands: diagnose, sync, repair, health."""
