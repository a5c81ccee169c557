// wanvideosrc: a video source that generates its frames with Wan2.1.
#pragma once
#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_WAN_VIDEO_SRC (gst_wan_video_src_get_type())
G_DECLARE_FINAL_TYPE(GstWanVideoSrc, gst_wan_video_src, GST, WAN_VIDEO_SRC, GstPushSrc)

GST_ELEMENT_REGISTER_DECLARE(wanvideosrc);

G_END_DECLS
