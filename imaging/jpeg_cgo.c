/* libjpeg-turbo glue for package imaging: every libjpeg call happens inside
   one C function that owns its decompress struct and its setjmp point, so a
   longjmp never crosses a Go frame, and jpeg_destroy_decompress runs on
   every path. Warnings (corrupt or truncated data) are errors. Nothing is
   printed. */
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

#include "jpeg_cgo.h"

/* Same default as djpeg -maxscans would use to stop scan floods in
   progressive files: far above what an encoder writes (cjpeg uses 10). */
#define MF_MAX_SCANS 500

typedef struct {
	struct jpeg_decompress_struct d; /* first: j_common_ptr casts to mf_ctx */
	struct jpeg_error_mgr err;
	struct jpeg_progress_mgr progress;
	jmp_buf jmp;
	mf_info *info;
} mf_ctx;

static void mf_fail(j_common_ptr c) {
	mf_ctx *ctx = (mf_ctx *)c;
	char buf[JMSG_LENGTH_MAX];
	c->err->format_message(c, buf);
	snprintf(ctx->info->msg, MF_MSG_LEN, "%s", buf);
	ctx->info->msg_code = c->err->msg_code;
	longjmp(ctx->jmp, 1);
}

static void mf_error_exit(j_common_ptr c) { mf_fail(c); }

static void mf_emit_message(j_common_ptr c, int level) {
	if (level >= 0) {
		return; /* trace messages */
	}
	switch (c->err->msg_code) {
	case JWRN_JFIF_MAJOR: /* metadata only: pixels are unaffected */
	case JWRN_BOGUS_ICC:
		return;
	}
	((mf_ctx *)c)->info->warning = 1;
	mf_fail(c);
}

static void mf_output_message(j_common_ptr c) { (void)c; }

static void mf_progress(j_common_ptr c) {
	mf_ctx *ctx = (mf_ctx *)c;
	if (ctx->d.input_scan_number > MF_MAX_SCANS) {
		snprintf(ctx->info->msg, MF_MSG_LEN, "more than %d scans", MF_MAX_SCANS);
		ctx->info->msg_code = -1;
		longjmp(ctx->jmp, 1);
	}
}

static void mf_init(mf_ctx *ctx, mf_info *info) {
	memset(info, 0, sizeof(*info));
	ctx->info = info;
	ctx->d.err = jpeg_std_error(&ctx->err);
	ctx->err.error_exit = mf_error_exit;
	ctx->err.emit_message = mf_emit_message;
	ctx->err.output_message = mf_output_message;
}

static void mf_fill_header(mf_ctx *ctx) {
	mf_info *info = ctx->info;
	info->width = (int)ctx->d.image_width;
	info->height = (int)ctx->d.image_height;
	info->components = ctx->d.num_components;
	info->color_space = (int)ctx->d.jpeg_color_space;
	info->progressive = ctx->d.progressive_mode ? 1 : 0;
}

int mf_jpeg_header(const unsigned char *src, size_t n, mf_info *info) {
	mf_ctx ctx;
	mf_init(&ctx, info);
	if (setjmp(ctx.jmp)) {
		jpeg_destroy_decompress(&ctx.d);
		return 1;
	}
	jpeg_create_decompress(&ctx.d);
	jpeg_mem_src(&ctx.d, (unsigned char *)src, (unsigned long)n);
	jpeg_read_header(&ctx.d, TRUE);
	mf_fill_header(&ctx);
	jpeg_destroy_decompress(&ctx.d);
	return 0;
}

int mf_jpeg_decode(const unsigned char *src, size_t n, int scale_num, long long max_pixels,
                   unsigned char *dst, size_t dst_cap, mf_info *info) {
	mf_ctx ctx;
	JSAMPROW rows[16];
	mf_init(&ctx, info);
	if (setjmp(ctx.jmp)) {
		jpeg_destroy_decompress(&ctx.d);
		return 1;
	}
	jpeg_create_decompress(&ctx.d);
	ctx.progress.progress_monitor = mf_progress;
	ctx.d.progress = &ctx.progress;
	jpeg_mem_src(&ctx.d, (unsigned char *)src, (unsigned long)n);
	jpeg_read_header(&ctx.d, TRUE);
	mf_fill_header(&ctx);
	if ((long long)ctx.d.image_width * (long long)ctx.d.image_height > max_pixels) {
		snprintf(info->msg, MF_MSG_LEN, "%ux%u pixels > max %lld", ctx.d.image_width, ctx.d.image_height,
		         max_pixels);
		info->msg_code = -2;
		jpeg_destroy_decompress(&ctx.d);
		return 1;
	}
	ctx.d.out_color_space = JCS_GRAYSCALE;
	ctx.d.scale_num = (unsigned int)scale_num;
	ctx.d.scale_denom = 8;
	jpeg_calc_output_dimensions(&ctx.d);
	info->out_width = (int)ctx.d.output_width;
	info->out_height = (int)ctx.d.output_height;
	if (ctx.d.output_components != 1 ||
	    (size_t)ctx.d.output_width * (size_t)ctx.d.output_height > dst_cap) {
		snprintf(info->msg, MF_MSG_LEN, "output %ux%ux%d does not fit %zu bytes", ctx.d.output_width,
		         ctx.d.output_height, ctx.d.output_components, dst_cap);
		info->msg_code = -3;
		jpeg_destroy_decompress(&ctx.d);
		return 1;
	}
	jpeg_start_decompress(&ctx.d);
	while (ctx.d.output_scanline < ctx.d.output_height) {
		JDIMENSION want = ctx.d.output_height - ctx.d.output_scanline, i;
		if (want > 16) {
			want = 16;
		}
		for (i = 0; i < want; i++) {
			rows[i] = dst + (size_t)(ctx.d.output_scanline + i) * ctx.d.output_width;
		}
		jpeg_read_scanlines(&ctx.d, rows, want);
	}
	jpeg_finish_decompress(&ctx.d);
	jpeg_destroy_decompress(&ctx.d);
	return 0;
}
