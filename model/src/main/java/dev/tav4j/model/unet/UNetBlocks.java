package dev.tav4j.model.unet;

import dev.tav4j.model.nn.Conv2d;

import java.util.List;

/** The stages of the UNet3D: attention lists are empty for DownBlock3D / UpBlock3D. */
final class UNetBlocks {
    private UNetBlocks() {}

    record Down(List<ResnetBlock3D> resnets, List<Transformer3D> attentions, Conv2d downsampler) {}

    record Mid(ResnetBlock3D first, Transformer3D attention, ResnetBlock3D second) {}

    record Up(List<ResnetBlock3D> resnets, List<Transformer3D> attentions, Conv2d upsampler) {}
}
