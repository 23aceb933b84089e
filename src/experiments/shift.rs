//! Shifting a digit by a few pixels: what the conv maps, the pooled maps and the FC input do (chapter "Pooling").
