//! windowd: the overview's window server on courier, compositing client bitmaps.
