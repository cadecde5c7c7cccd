/**
 * Video files in and out through FFmpeg (the bytedeco presets, LGPL build): VideoReader, and the MP4 writer that the
 * model module's VideoOutput finds as a VideoFileWriter. FFmpeg's natives are in a platform module
 * (org.bytedeco.ffmpeg.linux.x86_64, …) that nothing requires: on the module path add it with --add-modules.
 */
module dev.tav4j.video {
    requires transitive dev.tav4j.model;
    requires org.bytedeco.ffmpeg;

    exports dev.tav4j.video;

    provides dev.tav4j.model.video.VideoFileWriter with dev.tav4j.video.Mp4Output;
}
