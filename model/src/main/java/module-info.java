/**
 * Checkpoints, tokenizer, CLIP, VAE, UNet3D, schedulers, the Tune-A-Video pipeline and its library API; frames in and
 * out as tensors and images, GIF written in pure Java. No FFmpeg: reading video files and writing MP4 is the
 * dev.tav4j.video module's (it provides the .mp4 VideoFileWriter). A new package needs an exports line here to be
 * usable from the module path.
 */
module dev.tav4j.model {
    requires transitive dev.tav4j.kernels;
    requires transitive java.desktop;
    requires transitive com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires java.logging;
    requires java.management;
    requires jdk.management;

    exports dev.tav4j.model.clip;
    exports dev.tav4j.model.config;
    exports dev.tav4j.model.eval;
    exports dev.tav4j.model.io;
    exports dev.tav4j.model.nn;
    exports dev.tav4j.model.pipeline;
    exports dev.tav4j.model.plan;
    exports dev.tav4j.model.pretrain;
    exports dev.tav4j.model.sched;
    exports dev.tav4j.model.text;
    exports dev.tav4j.model.tune;
    exports dev.tav4j.model.unet;
    exports dev.tav4j.model.vae;
    exports dev.tav4j.model.video;
    exports dev.tav4j.model.world;

    uses dev.tav4j.model.video.VideoFileWriter;
}
