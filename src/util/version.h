#define OHR_VERSION "0.1.0"
