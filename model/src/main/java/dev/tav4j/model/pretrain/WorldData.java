package dev.tav4j.model.pretrain;

import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.world.Sample;
import dev.tav4j.model.world.Split;
import dev.tav4j.model.world.World;
import dev.tav4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The training data of {@code tav pretrain}, drawn from the procedural world's training split (the held-out
 * combinations stay unseen for {@code tav eval}) as a pure function of (seed, stage, step): stills for the VAE,
 * captioned videos for the UNet, and every random number a step uses (posterior noise, timesteps, ε, which captions
 * are dropped for classifier-free guidance). A resumed run therefore sees exactly the batches an uninterrupted one
 * would, with no generator state to save.
 */
public final class WorldData {
    /** Separate streams for the stages, so the VAE's stills and the UNet's videos are different scenes. */
    private static final long STILLS = 0x5717_1E55L, VIDEOS = 0x0F1D_E05L, NOISE = 0x0015_E000L;

    private final PretrainConfig cfg;
    private final long seed;
    private final World stills, videos;

    public WorldData(PretrainConfig cfg, long seed) {
        this.cfg = cfg;
        this.seed = seed;
        this.stills = new World(cfg.size(), cfg.size(), 1);
        this.videos = new World(cfg.size(), cfg.size(), cfg.frames());
    }

    /** The world seed of a stage's samples. */
    private long worldSeed(long stream) {
        return seed * 0x9E3779B97F4A7C15L ^ stream;
    }

    /** Random numbers of one step of one stage. */
    public Gaussian random(String stage, int step) {
        return new Gaussian(worldSeed(NOISE) ^ (stage.hashCode() * 0x100000001B3L) ^ ((long) step * 0xC2B2AE3D27D4EB4FL));
    }

    /** Still images of VAE step {@code step}: [B, H, W, 3] in [−1, 1]. */
    public Tensor stills(int step, int count) {
        return stills(worldSeed(STILLS), (long) step * count, count);
    }

    /** Stills that no VAE step draws (index range far past any run), e.g. for the scaling factor or evaluation. */
    public Tensor heldStills(int count) {
        return stills(worldSeed(STILLS), Long.MAX_VALUE / 2, count);
    }

    private Tensor stills(long ws, long first, int count) {
        int s = cfg.size(), per = s * s * 3;
        Tensor out = Tensor.host(count, s, s, 3);
        for (int i = 0; i < count; i++) {
            try (Tensor px = stills.sample(ws, first + i, Split.TRAIN).video().toPixels()) {
                out.segment().asSlice((long) i * per * 4, (long) per * 4).copyFrom(px.segment());
            }
        }
        return out;
    }

    /** The videos of UNet step {@code step}. */
    public List<Sample> videos(int step, int count) {
        List<Sample> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) out.add(videos.sample(worldSeed(VIDEOS), (long) step * count + i, Split.TRAIN));
        return out;
    }

    /** Videos of the training split that no UNet step draws (index range far past any run), e.g. for sample captions. */
    public List<Sample> heldVideos(int count) {
        List<Sample> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) out.add(videos.sample(worldSeed(VIDEOS), Long.MAX_VALUE / 2 + i, Split.TRAIN));
        return out;
    }

    /** The frames of {@code videos} as one batch [B·F, H, W, 3] in [−1, 1]. */
    public Tensor pixels(List<Sample> videos) {
        int s = cfg.size(), f = cfg.frames(), per = f * s * s * 3;
        Tensor out = Tensor.host(videos.size() * f, s, s, 3);
        for (int i = 0; i < videos.size(); i++) {
            try (Tensor px = videos.get(i).video().toPixels()) {
                out.segment().asSlice((long) i * per * 4, (long) per * 4).copyFrom(px.segment());
            }
        }
        return out;
    }
}
