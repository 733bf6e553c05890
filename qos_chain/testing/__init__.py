"""Test helpers shipped with the engine: a toy key-value app (KVApp) and factories."""
