package dev.tav4j.model.video;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/** A clip generated in the process: a ball moving across a sky-to-ground gradient (the demo's input video). */
public final class SyntheticClip {
    private SyntheticClip() {}

    public static List<BufferedImage> movingBall(int frames, int width, int height) {
        List<BufferedImage> out = new ArrayList<>(frames);
        for (int f = 0; f < frames; f++) {
            BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setPaint(new GradientPaint(0, 0, new Color(110, 170, 235), 0, height * 0.7f, new Color(235, 240, 250)));
            g.fillRect(0, 0, width, height);
            g.setColor(new Color(90, 140, 70));
            g.fillRect(0, (int) (height * 0.7), width, height - (int) (height * 0.7));
            double t = frames == 1 ? 0 : (double) f / (frames - 1);
            int r = Math.max(2, Math.min(width, height) / 6);
            int cx = (int) (r + t * (width - 2 * r));
            int cy = (int) (height * 0.7 - r - Math.abs(Math.sin(t * Math.PI * 2)) * height * 0.35);
            g.setColor(new Color(220, 60, 40));
            g.fillOval(cx - r, cy - r, 2 * r, 2 * r);
            g.setColor(new Color(120, 30, 20));
            g.setStroke(new BasicStroke(Math.max(1, r / 6f)));
            g.drawOval(cx - r, cy - r, 2 * r, 2 * r);
            g.dispose();
            out.add(img);
        }
        return out;
    }
}
