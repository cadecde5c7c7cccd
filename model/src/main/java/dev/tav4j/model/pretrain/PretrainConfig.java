package dev.tav4j.model.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.ClipTextConfig;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.config.VaeConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Everything that defines a pretraining run besides the seed: the world's frame size and clip length, the three
 * models' sizes (Stable Diffusion's architectures, scaled down), batch sizes, steps and optimiser settings per
 * stage. {@link #defaults()} is sized so that the whole run takes about two hours on two CPU cores
 * (docs/pretrain.md has the measured step times); {@link #tiny()} is the same topology at test scale.
 *
 * @param size          frame width and height of the world (a multiple of the VAE's downscale)
 * @param frames        frames per training video (the UNet3D's temporal layers train on them); 1: a text-to-image
 *                      UNet trained on captioned stills ({@link #textToImage})
 * @param vaeChannels   the VAE's block_out_channels (2^(n−1) is its downscale; SD: 128, 256, 512, 512)
 * @param vaeGroups     GroupNorm groups of the VAE (SD: 32)
 * @param unetChannels  the UNet's block_out_channels (SD: 320, 640, 1280, 1280); all but the last level have
 *                      cross-attention, as SD's CrossAttnDownBlock2D × (n−1) + DownBlock2D
 * @param unetLayers    resnets per UNet down block (SD: 2)
 * @param unetGroups    GroupNorm groups of the UNet (SD: 32)
 * @param unetHeads     attention heads per level (diffusers' attention_head_dim of SD 1.x: 8)
 * @param textHidden    the text encoder's width, also the UNet's cross_attention_dim (SD 1.x: 768)
 * @param textLayers    text encoder layers (SD 1.x: 12)
 * @param textHeads     text encoder heads (SD 1.x: 12)
 * @param vaeBatch      still images per VAE step
 * @param unetBatch     videos per UNet step
 * @param vaeSteps      VAE steps
 * @param unetSteps     UNet steps
 * @param vaeLr         peak learning rate of the VAE (linear warm-up, cosine decay to a tenth)
 * @param unetLr        peak learning rate of the UNet
 * @param warmup        warm-up steps of each stage
 * @param klWeight      β of the VAE's KL term ({@link VaeObjective})
 * @param uncondProb    probability that a UNet step's caption is replaced by "" (classifier-free guidance)
 * @param checkpointEvery steps between resumable checkpoints
 */
public record PretrainConfig(int size, int frames, int[] vaeChannels, int vaeGroups, int[] unetChannels, int unetLayers,
                             int unetGroups, int unetHeads, int textHidden, int textLayers, int textHeads, int vaeBatch,
                             int unetBatch, int vaeSteps, int unetSteps, float vaeLr, float unetLr, int warmup,
                             float klWeight, float uncondProb, int checkpointEvery) {

    /** The full run: ~2 h on two CPU cores (docs/pretrain.md). */
    public static PretrainConfig defaults() {
        return new PretrainConfig(64, 4, new int[]{16, 32, 64, 64}, 8, new int[]{64, 96, 128}, 2, 8, 4, 64, 2, 4,
                8, 2, 2500, 7000, 1e-3f, 5e-4f, 100, 1e-4f, 0.1f, 250);
    }

    /** The same topology at test scale (32×32 frames, 4 frames, narrow layers). */
    public static PretrainConfig tiny() {
        return new PretrainConfig(32, 4, new int[]{8, 16, 16}, 4, new int[]{16, 32}, 1, 4, 2, 16, 1, 2,
                4, 1, 20, 20, 2e-3f, 2e-3f, 2, 1e-4f, 0.1f, 10);
    }

    public PretrainConfig withSteps(int vae, int unet) {
        return new PretrainConfig(size, frames, vaeChannels, vaeGroups, unetChannels, unetLayers, unetGroups, unetHeads, textHidden,
                textLayers, textHeads, vaeBatch, unetBatch, vae, unet, vaeLr, unetLr, warmup, klWeight, uncondProb, checkpointEvery);
    }

    /** The same run with {@code f} frames per training clip (1: a text-to-image UNet, {@link #textToImage}). */
    public PretrainConfig withFrames(int f) {
        return new PretrainConfig(size, f, vaeChannels, vaeGroups, unetChannels, unetLayers, unetGroups, unetHeads, textHidden,
                textLayers, textHeads, vaeBatch, unetBatch, vaeSteps, unetSteps, vaeLr, unetLr, warmup, klWeight, uncondProb, checkpointEvery);
    }

    public PretrainConfig withCheckpointEvery(int every) {
        return new PretrainConfig(size, frames, vaeChannels, vaeGroups, unetChannels, unetLayers, unetGroups, unetHeads, textHidden,
                textLayers, textHeads, vaeBatch, unetBatch, vaeSteps, unetSteps, vaeLr, unetLr, warmup, klWeight, uncondProb, every);
    }

    /**
     * Whether the UNet is pretrained as a text-to-image model, as Stable Diffusion is (frames 1: captioned stills, no
     * temporal layers, written as a UNet2DConditionModel), so tuning starts where Tune-A-Video starts: inflated with
     * fresh temporal layers. Otherwise (frames &gt; 1) it is pretrained as a video model on captioned clips.
     */
    public boolean textToImage() { return frames == 1; }

    /** The VAE's spatial downscale. */
    public int vaeScale() { return 1 << (vaeChannels.length - 1); }

    public int latentSize() { return size / vaeScale(); }

    /** SD's AutoencoderKL: DownEncoderBlock2D/UpDecoderBlock2D, one resnet per level (SD: 2), 4 latent channels. */
    public VaeConfig vae(float scalingFactor) {
        return new VaeConfig(3, 3, vaeChannels.clone(), 1, 4, vaeGroups, size, scalingFactor);
    }

    /** SD's UNet2DConditionModel topology, to be inflated to Tune-A-Video's UNet3D (temporal layers added). */
    public UNetConfig unet() {
        int n = unetChannels.length;
        List<String> down = new ArrayList<>(), up = new ArrayList<>();
        for (int i = 0; i < n; i++) down.add(i < n - 1 ? "CrossAttnDownBlock2D" : "DownBlock2D");
        for (int i = 0; i < n; i++) up.add(i == 0 ? "UpBlock2D" : "CrossAttnUpBlock2D");
        int[] heads = new int[n];
        Arrays.fill(heads, unetHeads);
        return new UNetConfig("UNet2DConditionModel", 4, 4, unetChannels.clone(), unetLayers, unetGroups, 1e-5f, textHidden, heads,
                false, down, up, true, 0, 1, false, latentSize(), null);
    }

    /** CLIP's text transformer (quick_gelu, causal, 77 positions) on the real BPE vocabulary of 49408 tokens. */
    public ClipTextConfig text() {
        return new ClipTextConfig(textHidden, 4 * textHidden, textHeads, textLayers, 77, 49408, "quick_gelu", 1e-5f);
    }

    public void check() {
        if (size % vaeScale() != 0) throw new IllegalArgumentException("frame size " + size + " is not a multiple of the VAE's downscale " + vaeScale());
        int lat = latentSize();
        if (lat % (1 << (unetChannels.length - 1)) != 0)
            throw new IllegalArgumentException("latent size " + lat + " is not divisible by the UNet's downscale " + (1 << (unetChannels.length - 1)));
        for (int c : vaeChannels) if (c % vaeGroups != 0) throw new IllegalArgumentException("VAE channels " + c + " not divisible by " + vaeGroups + " groups");
        for (int c : unetChannels) {
            if (c % unetGroups != 0) throw new IllegalArgumentException("UNet channels " + c + " not divisible by " + unetGroups + " groups");
            if (c % unetHeads != 0) throw new IllegalArgumentException("UNet channels " + c + " not divisible by " + unetHeads + " heads");
        }
        if (textHidden % textHeads != 0) throw new IllegalArgumentException("text width " + textHidden + " not divisible by " + textHeads + " heads");
    }

    /** As JSON (pretrain.json and every checkpoint's state: a resumed run must be the same run). */
    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("size", size);
        n.put("frames", frames);
        ints(n, "vae_channels", vaeChannels);
        n.put("vae_groups", vaeGroups);
        ints(n, "unet_channels", unetChannels);
        n.put("unet_layers", unetLayers);
        n.put("unet_groups", unetGroups);
        n.put("unet_heads", unetHeads);
        n.put("text_hidden", textHidden);
        n.put("text_layers", textLayers);
        n.put("text_heads", textHeads);
        n.put("vae_batch", vaeBatch);
        n.put("unet_batch", unetBatch);
        n.put("vae_steps", vaeSteps);
        n.put("unet_steps", unetSteps);
        n.put("vae_lr", vaeLr);
        n.put("unet_lr", unetLr);
        n.put("warmup", warmup);
        n.put("kl_weight", klWeight);
        n.put("uncond_prob", uncondProb);
        n.put("checkpoint_every", checkpointEvery);
        return n;
    }

    public static PretrainConfig fromJson(JsonNode n) {
        return new PretrainConfig(n.path("size").asInt(), n.path("frames").asInt(), ints(n.path("vae_channels")), n.path("vae_groups").asInt(),
                ints(n.path("unet_channels")), n.path("unet_layers").asInt(), n.path("unet_groups").asInt(), n.path("unet_heads").asInt(),
                n.path("text_hidden").asInt(), n.path("text_layers").asInt(), n.path("text_heads").asInt(), n.path("vae_batch").asInt(),
                n.path("unet_batch").asInt(), n.path("vae_steps").asInt(), n.path("unet_steps").asInt(), (float) n.path("vae_lr").asDouble(),
                (float) n.path("unet_lr").asDouble(), n.path("warmup").asInt(), (float) n.path("kl_weight").asDouble(),
                (float) n.path("uncond_prob").asDouble(), n.path("checkpoint_every").asInt());
    }

    private static void ints(ObjectNode n, String key, int[] v) {
        var a = n.putArray(key);
        for (int x : v) a.add(x);
    }

    private static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asInt();
        return v;
    }

    /** Everything but the step counts and the checkpoint interval (what a resumed run must share with the first). */
    public String architectureKey() {
        ObjectNode n = toJson();
        n.remove("vae_steps");
        n.remove("unet_steps");
        n.remove("checkpoint_every");
        return n.toString();
    }

    @Override public boolean equals(Object o) {
        return o instanceof PretrainConfig c && toJson().equals(c.toJson());
    }

    @Override public int hashCode() { return toJson().hashCode(); }

    @Override public String toString() { return toJson().toString(); }
}
