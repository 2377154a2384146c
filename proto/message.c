typedef int ig_placeholder_; /* replaced by the real source */
