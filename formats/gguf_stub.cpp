// Temporary: replaced by gguf_reader.cpp / gguf_writer.cpp / gguf_value.cpp.
