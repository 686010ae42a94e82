/* Decoding JPEGs with libjpeg-turbo for package imaging. */
#ifndef MEDFLOW_IMAGING_JPEG_H
#define MEDFLOW_IMAGING_JPEG_H

#include <stddef.h>

#define MF_MSG_LEN 200

/* mf_info is filled by mf_jpeg_header and mf_jpeg_decode. */
typedef struct {
	int width, height;         /* image size in the header */
	int components;            /* number of components in the frame */
	int color_space;           /* J_COLOR_SPACE of the data */
	int progressive;           /* 1 for a progressive JPEG */
	int out_width, out_height; /* size after DCT scaling (decode only) */
	int msg_code;              /* libjpeg message code of the failure */
	int warning;               /* 1 when the failure was a libjpeg warning */
	char msg[MF_MSG_LEN];      /* libjpeg's text of the failure */
} mf_info;

/* mf_jpeg_header reads the header (up to the first scan) of src[0:n] and
   allocates nothing that depends on the image size. 0 on success. */
int mf_jpeg_header(const unsigned char *src, size_t n, mf_info *info);

/* mf_jpeg_decode decodes src[0:n] to 8-bit grayscale, reduced in the DCT
   domain by scale_num/8 (1..8), into dst (rows of out_width bytes, packed).
   It fails without decoding when width*height > max_pixels or the output
   does not fit dst_cap bytes. 0 on success. */
int mf_jpeg_decode(const unsigned char *src, size_t n, int scale_num, long long max_pixels,
                   unsigned char *dst, size_t dst_cap, mf_info *info);

#endif
